/**
 * Slack's size limits as data, so the renderers can fit every reply and view into them instead of
 * having Slack refuse the whole message (`invalid_blocks`, `msg_blocks_too_long`).
 * Numbers are Slack's documented maxima (docs.slack.dev Block Kit reference) unless marked "ours".
 */

/** Slack's limits (characters unless the name says otherwise); every renderer stays within them. */
export const SLACK_LIMITS = {
  /** Blocks in one message. */
  blocksPerMessage: 50,
  /** Blocks in one modal view. */
  blocksPerModal: 100,
  /** Text of a section block (mrkdwn or plain_text). */
  sectionText: 3000,
  /** Fields of one section block. */
  sectionFields: 10,
  /** Text of one section field. */
  sectionFieldText: 2000,
  /** Elements of one context block. */
  contextElements: 10,
  /** Text of any text object (a context element, for one). */
  textObject: 3000,
  /** Elements of one actions block. */
  actionsElements: 25,
  /** Text of a button. */
  buttonText: 75,
  /** Value of a button. */
  buttonValue: 2000,
  /** action_id of an interactive element. */
  actionId: 255,
  /** block_id of a block. */
  blockId: 255,
  /** Confirmation dialog: title, text, confirm and deny button texts. */
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Options of a static_select, and groups of it (each group again at most 100 options). */
  selectOptions: 100,
  selectOptionGroups: 100,
  /** Text of an option, and label of an option group. */
  optionText: 75,
  /** Value of an option: 75 in @slack/types and the older reference, 150 in the current one; we keep the smaller. */
  optionValue: 75,
  /** Description line under a radio button or checkbox option. */
  optionDescription: 75,
  /** Options of a radio_buttons or checkboxes element. */
  radioOptions: 10,
  checkboxOptions: 10,
  /** Placeholder of an input element. */
  placeholder: 150,
  /** max_length a plain_text_input may declare. */
  plainTextInputMaxLength: 3000,
  /** Header block text (plain_text only, so it cannot carry date tokens; we do not use it). */
  header: 150,
  /** Modal title, submit and close texts. */
  modalTitle: 24,
  modalButton: 24,
  /** Label and hint of an input block. */
  inputLabel: 2000,
  inputHint: 2000,
  /** callback_id of a view. */
  callbackId: 255,
  /** private_metadata of a view. */
  privateMetadata: 3000,
  /** Message `text`: Slack truncates longer text. */
  messageText: 40000,
  /** Ours: the notification/fallback `text` we send (Slack recommends staying under 4000). */
  fallbackText: 3000,
  /**
   * Ours: the total text of a message's blocks. Slack refuses larger messages with
   * `msg_blocks_too_long` at an undocumented size (reported around 11–13k characters of text,
   * slackapi/bolt-js#2509 and #2867), so we stay well below it.
   */
  blocksTextBudget: 9000,
  /** Ours: one view_submission error message (no documented limit; the input label's limit). */
  viewErrorText: 2000,
} as const;

/** Least time between two messages to one channel: chat.postMessage allows about one per second per channel. */
export const SLACK_MIN_MESSAGE_INTERVAL_MS = 1000;
