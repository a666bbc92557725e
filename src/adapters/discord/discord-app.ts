/**
 * The Discord adapter: a discord.js gateway client (Guilds intent only) that turns slash
 * commands, button clicks and the two forms into invocations of the one dispatcher, and renders
 * the replies as embeds and buttons. It translates and never decides: identity is the Discord user
 * id on the interaction, every button is a typed command, and a form is filed as the command it
 * stands for. Every answer is deferred at once (ephemeral: answers are personal) and then edited,
 * so Discord's 3-second limit holds whatever a command costs; forms are opened as the first answer.
 */
import { randomUUID } from 'node:crypto';
import { REST } from '@discordjs/rest';
import { Client, Events, GatewayIntentBits, MessageFlags } from 'discord.js';
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  InteractionEditReplyOptions,
  ModalSubmitInteraction,
  RepliableInteraction,
} from 'discord.js';
import { ButtonStyle, ComponentType } from 'discord-api-types/v10';
import type { APIApplicationCommandInteractionDataOption } from 'discord-api-types/v10';
import type { Deps, Invocation, Logger } from '../../core/command.js';
import { dispatch, identify, unknownPersonReply } from '../../core/dispatch.js';
import type { Registry } from '../../core/dispatch.js';
import { errorReply, findingsBlock, reply, text } from '../../core/reply.js';
import type { Reply } from '../../core/reply.js';
import type { Person } from '../../domain/types.js';
import { previewRequest } from '../../services/file-request.js';
import { suggestDeviceList, suggestDevices, suggestVersions } from '../../services/suggestions.js';
import type { Suggestion } from '../../services/suggestions.js';
import { DeliveryDeduper } from '../delivery-deduper.js';
import { ACKNOWLEDGEMENTS_FIRST, WorkQueue, busyReply, stoppedReply } from '../work-queue.js';
import { COMMAND_LIMITS, commandText, subcommandPath } from './commands.js';
import {
  EDIT_FORM_PREFIX,
  EMPTY_DRAFT,
  FORM_OPTIONS,
  PASSWORD_MODAL_PREFIX,
  REQUEST_MODAL_ID,
  draftCommandText,
  draftInput,
  fieldOfFinding,
  passwordCommandText,
  passwordModal,
  readRequestModal,
  requestModal,
} from './modals.js';
import type { RequestDraft } from './modals.js';
import { commandOfCustomId, renderDiscordMessage } from './render.js';
import type { DiscordMessage } from './render.js';

/** Discord settings as the configuration validated them. */
export interface DiscordSettings {
  token: string;
  applicationId: string;
  /** REST base, e.g. https://discord.com/api (tests and proxies). */
  apiUrl?: string;
  opsChannel?: string;
}

export interface DiscordAdapterOptions {
  settings: DiscordSettings;
  registry: Registry;
  deps: Deps;
  log: Logger;
  /** A fresh invocation id per command. */
  newId: () => string;
  /** Longest wait for the gateway's READY; default 30 s. */
  readyTimeoutMs?: number;
  /** Commands deferred and waiting to run before the bot answers "busy" (default 10,000; tests lower it). */
  maxPendingCommands?: number;
}

/** Commands run at once; the rest wait in arrival order (see WorkQueue). */
const COMMANDS_AT_ONCE = 4;
/** How long stopping waits for deferred commands to finish before answering the rest "stopped". */
const STOP_DRAIN_MS = 10_000;

/** What a deferred interaction is finally answered with: a reply, and raw button rows to add. */
interface Answer {
  reply: Reply;
  rows?: DiscordMessage['components'];
}

/** A started Discord adapter (the gateway connection). */
export interface DiscordAdapter {
  client: Client;
  stop(): Promise<void>;
}

/**
 * The REST client of the outbox's Discord sink: no retries and no waiting on 429 inside it (the
 * outbox retries durably). It needs no gateway connection, so every process delivers Discord
 * notices, whether or not it holds the gateway.
 */
export function createDiscordSinkRest(settings: Pick<DiscordSettings, 'token' | 'apiUrl'>): REST {
  return new REST({ ...(settings.apiUrl ? { api: settings.apiUrl } : {}), retries: 0, rejectOnRateLimit: () => true, timeout: 15_000 }).setToken(settings.token);
}

/** A request reference as the password form takes it. */
const REF_SHAPE = /^UPG-?\d{1,9}$/i;

/**
 * `/upgrade request` opens the form when something it needs (device, version, when) is missing
 * and nothing was given that the form cannot hold (the flags): what was given is filled in.
 */
function wantsForm(values: ReadonlyArray<{ name: string; value: string | number | boolean }>): boolean {
  const given = new Set(values.map((v) => v.name));
  return values.every((v) => FORM_OPTIONS.has(v.name)) && ['device', 'version', 'when'].some((k) => !given.has(k));
}

/** custom_id prefix of the button that confirms a red button's command; the command follows (as after `cmd:`). */
const CONFIRMED_PREFIX = 'yes:';

/** The private question a red button asks before its command runs, with the button that runs it. */
function confirmation(command: string): { reply: Reply; rows: DiscordMessage['components'] } {
  const verb = /^\/?upgrade(?:-admin)?\s+(?:run\s+\S+\s+)?(\w+)/i.exec(command)?.[1] ?? 'Go';
  const label = `Yes, ${verb.toLowerCase()}`;
  const ref = /\bUPG-\d+\b/i.exec(command)?.[0]?.toUpperCase();
  return {
    reply: reply(`${verb[0]!.toUpperCase()}${verb.slice(1).toLowerCase()}${ref ? ` ${ref}` : ''}?`, text(`This runs: ${command}`), text('Dismiss this message to leave it as it is.')),
    rows: [
      {
        type: ComponentType.ActionRow,
        components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label, custom_id: `${CONFIRMED_PREFIX}${command}` }],
      },
    ],
  };
}

/** How long a form's values are kept for "Edit the form" (in memory; a restart forgets them). */
const DRAFT_TTL_MS = 30 * 60_000;
const MAX_DRAFTS = 1000;

/** A rendered message as discord.js takes it for an interaction reply (mentions never parsed). */
function replyOptions(message: DiscordMessage, extraRows: DiscordMessage['components'] = []) {
  return {
    content: message.content,
    embeds: message.embeds,
    components: [...message.components, ...extraRows].slice(0, 5),
    allowedMentions: { parse: [] as [] },
  } satisfies InteractionEditReplyOptions;
}

/** Starts the gateway client and resolves once Discord says READY. */
export async function startDiscordAdapter(options: DiscordAdapterOptions): Promise<DiscordAdapter> {
  const { settings, registry, deps, log, newId } = options;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    allowedMentions: { parse: [] },
    rest: settings.apiUrl ? { api: settings.apiUrl } : {},
  });
  const deduper = new DeliveryDeduper();
  const drafts = new Map<string, { userId: string; draft: RequestDraft; at: number }>();
  const adminIn = (channelId: string | null) => !!settings.opsChannel && channelId === settings.opsChannel;
  const render = (r: Reply, channelId: string | null) => renderDiscordMessage(r, { adminActions: adminIn(channelId) });

  const invoke = (userId: string, typed: string): Promise<Reply> => {
    const invocation: Invocation = { id: newId(), via: 'discord', identity: { kind: 'discord', userId }, text: typed };
    return dispatch(registry, deps, invocation);
  };

  const sorry = (): Reply => errorReply('internal_error', 'Something went wrong on our side. Please try again in a moment.');

  // Deferred interactions are worked on from one queue, a few at a time, so the deferrals of the
  // next ones (due within 3 s) never wait behind that work in the event loop (as Slack's acks).
  const work = new WorkQueue({
    concurrency: COMMANDS_AT_ONCE,
    maxPending: options.maxPendingCommands ?? 10_000,
    burst: ACKNOWLEDGEMENTS_FIRST,
    onError: (error) => log.error({ err: error instanceof Error ? error.message : String(error) }, 'Discord command could not be answered after its deferral'),
  });

  /**
   * Queues `produce` for an interaction already deferred, and edits the deferred answer with what
   * it gives (an apology when it fails); a full or stopping queue is said at once.
   */
  async function answerLater(interaction: RepliableInteraction, produce: () => Promise<Answer>): Promise<void> {
    const edit = async (answer: Answer) => {
      await interaction.editReply(replyOptions(render(answer.reply, interaction.channelId), answer.rows));
    };
    const accepted = work.offer({
      run: async () => {
        let answer: Answer;
        try {
          answer = await produce();
        } catch (error) {
          log.error({ err: error, interactionId: interaction.id }, 'Discord interaction failed');
          answer = { reply: sorry() };
        }
        await edit(answer);
      },
      abandon: () => edit({ reply: stoppedReply() }),
    });
    if (!accepted) await edit({ reply: work.stopping ? stoppedReply() : busyReply() });
  }

  /** Defers (ephemeral), then runs the command as the interaction's user from the queue and edits the deferred answer with the reply. */
  async function answerWithCommand(interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction, typed: string) {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await answerLater(interaction, async () => ({ reply: await invoke(interaction.user.id, typed) }));
  }

  /** Answers with a reply at once (no command run), with extra raw button rows. */
  async function answerNow(interaction: ChatInputCommandInteraction | ButtonInteraction, r: Reply | { reply: Reply; rows: DiscordMessage['components'] }) {
    const [content, rows] = 'blocks' in r ? [r, []] : [r.reply, r.rows];
    const m = render(content, interaction.channelId);
    await interaction.reply({ ...replyOptions(m, rows), flags: MessageFlags.Ephemeral });
  }

  /** The person behind the interaction, or a reply saying why there is none. */
  async function personOrProblem(userId: string): Promise<Person | Reply> {
    const person = await identify(deps.store, { kind: 'discord', userId });
    if (!person) return unknownPersonReply({ kind: 'discord', userId });
    if (person.customerId === null) {
      return errorReply(
        'invalid_arguments',
        'The form lists the devices of your own company, and you are staff.',
        'File for a customer by giving the options, with company: set to the customer; see "/upgrade help request".',
      );
    }
    return person;
  }

  function keepDraft(userId: string, draft: RequestDraft): string {
    const now = Date.now();
    for (const [id, d] of drafts) if (drafts.size >= MAX_DRAFTS || now - d.at > DRAFT_TTL_MS) drafts.delete(id);
    const id = randomUUID().slice(0, 12);
    drafts.set(id, { userId, draft, at: now });
    return id;
  }

  async function onChatInput(interaction: ChatInputCommandInteraction) {
    const group = interaction.commandName;
    const data = interaction.options.data as unknown as APIApplicationCommandInteractionDataOption[];
    const { path, values } = subcommandPath(data);
    if (group === 'upgrade' && path[0] === 'request' && wantsForm(values)) {
      const person = await personOrProblem(interaction.user.id);
      if (!('id' in person)) return answerNow(interaction, person);
      const given = Object.fromEntries(values.map((v) => [v.name, String(v.value)]));
      await interaction.showModal(requestModal({ ...EMPTY_DRAFT, ...given }));
      return;
    }
    if (group === 'upgrade' && path[0] === 'password') {
      const ref = String(values.find((v) => v.name === 'ref')?.value ?? '').trim();
      if (!REF_SHAPE.test(ref)) {
        return answerNow(
          interaction,
          errorReply('invalid_arguments', 'Give the reference of the request, e.g. UPG-000001.', 'Then type the password into the form that opens.'),
        );
      }
      await interaction.showModal(passwordModal(ref.toUpperCase()));
      return;
    }
    await answerWithCommand(interaction, commandText(group, data));
  }

  async function onButton(interaction: ButtonInteraction) {
    const command = commandOfCustomId(interaction.customId);
    // Discord buttons have no confirmation dialog: a red one (Decline, Abort) asks first, privately.
    if (command && interaction.component.style === ButtonStyle.Danger) return answerNow(interaction, confirmation(command));
    if (command) return answerWithCommand(interaction, command);
    const confirmed = interaction.customId.startsWith(CONFIRMED_PREFIX) ? commandOfCustomId(`cmd:${interaction.customId.slice(CONFIRMED_PREFIX.length)}`) : null;
    if (confirmed) return answerWithCommand(interaction, confirmed);
    if (interaction.customId.startsWith(EDIT_FORM_PREFIX)) {
      const kept = drafts.get(interaction.customId.slice(EDIT_FORM_PREFIX.length));
      if (!kept || kept.userId !== interaction.user.id || Date.now() - kept.at > DRAFT_TTL_MS) {
        return answerNow(
          interaction,
          errorReply('form_expired', 'This form is no longer kept.', 'Type /upgrade request again to open a new one.'),
        );
      }
      await interaction.showModal(requestModal(kept.draft));
      return;
    }
    log.warn({ customId: interaction.customId.slice(0, 100) }, 'Discord button of no known kind; ignored');
    await interaction.deferUpdate();
  }

  async function onModal(interaction: ModalSubmitInteraction) {
    const fields = new Map(interaction.fields.fields.map((f) => [f.customId, 'value' in f ? String(f.value ?? '') : '']));
    if (interaction.customId.startsWith(PASSWORD_MODAL_PREFIX)) {
      const ref = interaction.customId.slice(PASSWORD_MODAL_PREFIX.length);
      return answerWithCommand(interaction, passwordCommandText(ref, fields.get('password') ?? ''));
    }
    if (interaction.customId !== REQUEST_MODAL_ID) {
      log.warn({ customId: interaction.customId.slice(0, 100) }, 'Discord form of no known kind; ignored');
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await answerLater(interaction, () => fileFromForm(interaction.user.id, readRequestModal(fields)));
  }

  /** Checks a submitted request form as `userId`, and files it as if typed when nothing is wrong. */
  async function fileFromForm(userId: string, draft: RequestDraft): Promise<Answer> {
    const person = await personOrProblem(userId);
    if (!('id' in person)) return { reply: person };
    const preview = await previewRequest(deps, person, draftInput(draft));
    const errors = preview.ok ? preview.value.filter((f) => f.severity === 'error') : [];
    if (!preview.ok || errors.length) {
      const problem: Reply = preview.ok
        ? reply(
            'The form needs a correction; nothing was filed',
            findingsBlock(errors.map((f) => ({ ...f, message: fieldOfFinding(f) ? `${fieldOfFinding(f)}: ${f.message}` : f.message }))),
            text('Press "Edit the form" to correct it.'),
          )
        : { ...errorReply(preview.error.code, preview.error.message, 'Press "Edit the form" to correct it; nothing was filed.') };
      const edit = {
        type: ComponentType.ActionRow as const,
        components: [
          { type: ComponentType.Button as const, style: ButtonStyle.Primary as const, label: 'Edit the form', custom_id: `${EDIT_FORM_PREFIX}${keepDraft(userId, draft)}` },
        ],
      };
      return { reply: problem, rows: [edit] };
    }
    // Filed exactly as if typed, through the same dispatcher.
    return { reply: await invoke(userId, draftCommandText(draft)) };
  }

  async function onAutocomplete(interaction: AutocompleteInteraction) {
    const focused = interaction.options.getFocused(true);
    const person = await identify(deps.store, { kind: 'discord', userId: interaction.user.id });
    let suggestions: Suggestion[] = [];
    if (person) {
      const option = (name: string) => {
        try {
          return interaction.options.getString(name) ?? undefined;
        } catch {
          return undefined;
        }
      };
      const input = { typed: String(focused.value ?? ''), company: option('company'), device: option('device') };
      if (focused.name === 'device') suggestions = await suggestDevices(deps, person, input);
      else if (focused.name === 'devices') suggestions = await suggestDeviceList(deps, person, input);
      else if (focused.name === 'version') suggestions = await suggestVersions(deps, person, input);
    }
    const cut = (s: string) => (s.length <= COMMAND_LIMITS.choiceName ? s : `${s.slice(0, COMMAND_LIMITS.choiceName - 1)}…`);
    await interaction.respond(
      suggestions
        .filter((s) => s.value.length <= COMMAND_LIMITS.choiceValue)
        .slice(0, COMMAND_LIMITS.autocompleteChoices)
        .map((s) => ({ name: cut(s.label), value: s.value })),
    );
  }

  async function handle(interaction: Interaction) {
    if (!deduper.firstTime(`interaction:${interaction.id}`)) {
      log.info({ interactionId: interaction.id }, 'Discord interaction seen before; ignored');
      return;
    }
    if (interaction.isAutocomplete()) return onAutocomplete(interaction);
    if (interaction.isChatInputCommand()) return onChatInput(interaction);
    if (interaction.isButton()) return onButton(interaction);
    if (interaction.isModalSubmit()) return onModal(interaction);
  }

  client.on(Events.InteractionCreate, (interaction) => {
    handle(interaction).catch(async (error: unknown) => {
      log.error({ err: error, interactionId: interaction.id }, 'Discord interaction failed');
      if (!interaction.isRepliable()) return;
      const apology = render(sorry(), interaction.channelId);
      try {
        if (interaction.deferred || interaction.replied) await interaction.editReply(replyOptions(apology));
        else await interaction.reply({ ...replyOptions(apology), flags: MessageFlags.Ephemeral });
      } catch {
        // The interaction token may have expired; the log has the failure.
      }
    });
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'Discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'Discord gateway disconnected'));

  const api = settings.apiUrl ?? 'https://discord.com/api';
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Discord did not say READY within ${(options.readyTimeoutMs ?? 30_000) / 1000} s (gateway from ${api}).`)),
      options.readyTimeoutMs ?? 30_000,
    );
    client.once(Events.ClientReady, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    await client.login(settings.token);
    await ready;
  } catch (error) {
    clearTimeout(timer);
    await client.destroy().catch(() => {});
    const e = error as { message?: string; code?: string; status?: number };
    const refused = e.code === 'TokenInvalid' || e.status === 401 || /401|Unauthorized|invalid token/i.test(e.message ?? '');
    throw new Error(
      refused
        ? `Discord refused the bot token (DISCORD_TOKEN): ${e.message}. Copy it again from the Developer Portal (your application → Bot → Reset Token).`
        : `Could not connect to Discord at ${api}: ${e.message}. Check the network (and DISCORD_API_URL when set).`,
    );
  }
  if (client.application && client.application.id !== settings.applicationId) {
    log.warn(
      { configured: settings.applicationId, actual: client.application.id },
      'DISCORD_APPLICATION_ID does not match the application of DISCORD_TOKEN; commands registered under the configured id will not reach this bot',
    );
  }
  log.info({ user: client.user?.tag ?? null, ops: settings.opsChannel ?? null }, 'Discord connected');
  return {
    client,
    async stop() {
      // Deferred commands are finished (or answered "stopped") while the client can still answer.
      const { abandoned } = await work.stop(STOP_DRAIN_MS);
      if (abandoned) log.warn({ abandoned }, 'Discord commands not run because the bot stopped; their senders were told');
      await client.destroy().catch((e: unknown) => log.warn({ err: String(e) }, 'Discord client did not stop cleanly'));
    },
  };
}
