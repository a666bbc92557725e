/**
 * Discord's size limits for messages, embeds and buttons as data, so the renderer can fit every
 * reply into them instead of having Discord refuse the whole message (50035 Invalid Form Body).
 * Numbers are Discord's documented maxima (discord.com/developers/docs: Message resource, Embed
 * limits; Components reference). Discord counts characters; the renderer counts UTF-16 code units,
 * which are never fewer, so staying within these numbers in JavaScript lengths is always safe.
 */

/** Discord's limits (characters unless the name says otherwise); the renderer stays within every one. */
export const DISCORD_LIMITS = {
  /** Message `content`. */
  content: 2000,
  /** Embeds in one message. */
  embedsPerMessage: 10,
  /** Embed title. */
  embedTitle: 256,
  /** Embed description. */
  embedDescription: 4096,
  /** Fields of one embed. */
  embedFields: 25,
  /** Name of one embed field. */
  embedFieldName: 256,
  /** Value of one embed field. */
  embedFieldValue: 1024,
  /** Embed footer text. */
  embedFooter: 2048,
  /** Embed author name. */
  embedAuthorName: 256,
  /** Sum of every title, description, field name and value, footer text and author name in all embeds of a message. */
  embedTotal: 6000,
  /** Action rows in one message. */
  actionRows: 5,
  /** Buttons in one action row. */
  buttonsPerRow: 5,
  /** Label of a button. */
  buttonLabel: 80,
  /** custom_id of a button (unique within its message). */
  customId: 100,
} as const;
