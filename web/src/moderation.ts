// Roles and moderation on the page: the viewer's role and the badges of who runs the room, the
// members panel (members with roles; for moderators the actions on those below them, the bans and
// mutes in force, and a form for anyone by name), and the lines moderators' actions leave in the list.
import {
  banUserMutation,
  muteUserMutation,
  roomMembersQuery,
  roomQuery,
  roomSanctionsQuery,
  setModeratorMutation,
  transferOwnershipMutation,
  unbanUserMutation,
  unmuteUserMutation,
  type RoomEventsSubscription,
  type RoomRole,
} from '../../client/index.js';
import { $, background, coalesced, el, showChatError, showChatNote } from './dom.js';
import { refreshRoles } from './messages.js';
import { MODERATING, outranks, state, type Conversation } from './state.js';

type RoomEvent = RoomEventsSubscription['roomEvents'];

/** A mute from the panel lasts this long. */
const MUTE_SECONDS = 10 * 60;
const ROLE_NAME: Record<RoomRole, string> = { OWNER: 'owner', ADMIN: 'admin', MODERATOR: 'moderator', MEMBER: 'member' };

const canModerate = (c: Conversation | null) => c !== null && !c.peer && c.role !== null && MODERATING.includes(c.role);

/** The viewer's role and who runs the room (badges), read when a room opens and when roles change. */
export async function loadRoomInfo(conversation: Conversation) {
  const session = state.session;
  if (!session || conversation.peer) return renderRoomTools(conversation);
  const { room } = await session.chat.request(roomQuery, { name: conversation.room });
  if (state.conversation !== conversation) return;
  conversation.role = room.myRole;
  conversation.roles = new Map(room.moderators.map((m) => [m.user.username, m.role]));
  refreshRoles();
  renderRoomTools(conversation);
  if (!$('members').hidden) background(refreshMembers());
}

/** The header's role chip, and the Members button where there is something to show. */
export function renderRoomTools(conversation: Conversation) {
  const chip = $('my-role');
  const role = conversation.role;
  chip.hidden = !role || role === 'MEMBER' || Boolean(conversation.peer);
  chip.textContent = role ? `you: ${ROLE_NAME[role]}` : '';
  const isPrivate = state.rooms.get(conversation.room)?.private ?? false;
  const members = !conversation.peer && (isPrivate || canModerate(conversation));
  $('room-actions').hidden = !members;
  $('leave-room').hidden = !isPrivate || Boolean(conversation.peer);
  $('private-tools').hidden = !isPrivate;
  $('moderator-tools').hidden = !canModerate(conversation);
}

/** What a moderator's action says in the list; '' for none. */
export function moderationNotice(event: RoomEvent, me: string): string {
  const who = (name: string) => (name === me ? 'you' : name);
  const actor = who(event.actor.username);
  const target = who(event.target?.username ?? '');
  switch (event.type) {
    case 'MUTED':
      return `${actor} muted ${target} until ${new Date(event.until ?? '').toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
    case 'UNMUTED':
      return `${actor} unmuted ${target}`;
    case 'BANNED':
      return `${actor} banned ${target}`;
    case 'UNBANNED':
      return `${actor} lifted the ban of ${target}`;
    case 'MEMBER_REMOVED':
      return `${actor} removed ${target} from the room`;
    case 'ROLE_CHANGED':
      return event.role === 'MEMBER' ? `${target} is no longer a moderator` : `${target} ${target === 'you' ? 'are' : 'is'} now ${event.role === 'OWNER' ? 'the owner' : 'a moderator'}`;
    default:
      return '';
  }
}

/** After a moderator's action: roles read again (badges, buttons), the panel redrawn. */
export function onModerationEvent(conversation: Conversation, event: RoomEvent) {
  if (event.type === 'ROLE_CHANGED') background(loadRoomInfo(conversation));
  else if (!$('members').hidden) background(refreshMembers());
}

/** The members panel's lists, read again (members; for moderators bans and mutes too). */
export const refreshMembers = coalesced(async () => {
  const conversation = state.conversation;
  const session = state.session;
  if (!conversation || !session || conversation.peer) return;
  const { room } = await session.chat.request(roomMembersQuery, { name: conversation.room });
  const sanctions = canModerate(conversation) ? (await session.chat.request(roomSanctionsQuery, { name: conversation.room })).room : null;
  if (state.conversation !== conversation) return;
  const muted = new Map(sanctions?.mutes?.map((m) => [m.user.username, m.until]) ?? []);
  $('member-list').replaceChildren(
    ...(room.members ?? []).map((m) => memberItem(conversation, m.user.username, m.role, m.mutedUntil ?? muted.get(m.user.username) ?? null)),
  );
  $('ban-list').replaceChildren(
    ...(sanctions?.bans ?? []).map((b) =>
      el('li', 'member banned', el('span', 'name', b.user.username), el('span', 'side-hint', `banned by ${b.bannedBy.username}`), actionButton('unban', 'Lift ban', b.user.username)),
    ),
  );
  $('bans-heading').hidden = !sanctions?.bans?.length;
});

function actionButton(action: string, label: string, username: string, danger = false) {
  const b = el('button', danger ? 'danger' : 'secondary', label);
  b.type = 'button';
  b.dataset.action = action;
  b.dataset.user = username;
  return b;
}

/** One member: name, role, mute; and the actions the viewer may take on them. */
function memberItem(conversation: Conversation, username: string, role: RoomRole, mutedUntil: string | null) {
  const li = el('li', 'member', el('span', 'name', username));
  li.dataset.user = username;
  if (role !== 'MEMBER') li.append(el('span', 'role-badge', ROLE_NAME[role]));
  if (mutedUntil) li.append(el('span', 'side-hint', `muted until ${new Date(mutedUntil).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`));
  const me = conversation.role;
  if (username === state.session?.me || !canModerate(conversation) || !outranks(me, role)) return li;
  li.append(mutedUntil ? actionButton('unmute', 'Unmute', username) : actionButton('mute', 'Mute 10 min', username));
  li.append(actionButton('ban', 'Ban', username, true));
  if (me === 'OWNER' || me === 'ADMIN') {
    li.append(role === 'MODERATOR' ? actionButton('demote', 'Remove moderator', username) : actionButton('promote', 'Make moderator', username));
  }
  if (me === 'OWNER') li.append(actionButton('transfer', 'Make owner', username));
  return li;
}

/** Runs a moderator's action on the open room; a note on success, the server's message otherwise. */
async function act(action: string, username: string) {
  const conversation = state.conversation;
  const chat = state.session?.chat;
  if (!conversation || !chat) return;
  const room = conversation.room;
  try {
    switch (action) {
      case 'mute': {
        const { muteUser } = await chat.request(muteUserMutation, { room, username, seconds: MUTE_SECONDS });
        showChatNote(`${username} is muted in #${room} until ${new Date(muteUser.until).toLocaleTimeString()}.`);
        break;
      }
      case 'unmute':
        await chat.request(unmuteUserMutation, { room, username });
        showChatNote(`${username} can write in #${room} again.`);
        break;
      case 'ban':
        await chat.request(banUserMutation, { room, username });
        showChatNote(`${username} is banned from #${room}.`);
        break;
      case 'unban':
        await chat.request(unbanUserMutation, { room, username });
        showChatNote(`${username} may come back to #${room}.`);
        break;
      case 'promote':
      case 'demote':
        await chat.request(setModeratorMutation, { room, username, moderator: action === 'promote' });
        showChatNote(action === 'promote' ? `${username} moderates #${room} now.` : `${username} no longer moderates #${room}.`);
        break;
      case 'transfer':
        await chat.request(transferOwnershipMutation, { room, username });
        showChatNote(`${username} owns #${room} now; you moderate it.`);
        break;
    }
  } catch (err) {
    showChatError(err);
  }
  background(refreshMembers());
}

export function wireModeration() {
  $('members').addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action][data-user]');
    if (button) void act(button.dataset.action!, button.dataset.user!);
  });
  $<HTMLFormElement>('moderate-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('moderate-user');
    const action = (event.submitter as HTMLButtonElement | null)?.value ?? 'mute';
    const username = input.value.trim().toLowerCase();
    if (!username) return;
    input.value = '';
    void act(action, username);
  });
}
