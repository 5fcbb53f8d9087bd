/**
 * The subscription documents the benchmark sends, as the project's clients send them: printed
 * from client/operations.ts (the typed client sends print(document) with its operationName).
 */
import { print, type DocumentNode } from 'graphql';
import {
  messageAddedSubscription,
  presenceChangedSubscription,
  roomActivitySubscription,
  roomEventsSubscription,
  typingSubscription,
} from '../client/operations.js';
import { BASIC_SUBSCRIPTION, type SubscriptionSpec } from './shared.js';

export const DOCUMENT_NAMES = ['basic', 'resume', 'roomEvents'] as const;
export type DocumentName = (typeof DOCUMENT_NAMES)[number];

export interface BenchDocument {
  readonly name: DocumentName;
  /** What the tables call it. */
  readonly label: string;
  readonly query: string;
  readonly operationName?: string;
  /** Each subscriber sends `after` = its own cursor. */
  readonly resumes: boolean;
}

const printed = (document: DocumentNode) => print(document);

export const DOCUMENTS: Readonly<Record<DocumentName, BenchDocument>> = {
  basic: { name: 'basic', label: 'messageAdded(room)', query: BASIC_SUBSCRIPTION, resumes: false },
  resume: {
    name: 'resume',
    label: 'messageAdded(room, after) of the typed client',
    query: printed(messageAddedSubscription),
    operationName: 'MessageAdded',
    resumes: true,
  },
  roomEvents: {
    name: 'roomEvents',
    label: 'roomEvents(room, after) of the web page',
    query: printed(roomEventsSubscription),
    operationName: 'RoomEvents',
    resumes: true,
  },
};

/** One subscription of `document` to `room`, from `after` when the document resumes. */
export function subscriptionOf(document: BenchDocument, room: string, after: string | undefined): SubscriptionSpec {
  return {
    query: document.query,
    ...(document.operationName ? { operationName: document.operationName } : {}),
    variables: document.resumes && after !== undefined ? { room, after } : { room },
    measured: true,
  };
}

/**
 * What the web page keeps open on its socket (web/src/main.ts): for the open room roomEvents
 * (from the last message shown), typing and presenceChanged; for every other room of its list a
 * light messageAdded { id room } (unread badges), from a recent cursor.
 */
export function webPageSubscriptions(openRoom: string, otherRooms: readonly string[], after: string | undefined): SubscriptionSpec[] {
  const of = (document: DocumentNode, operationName: string, variables: Record<string, unknown>, measured = false): SubscriptionSpec => ({
    query: printed(document),
    operationName,
    variables,
    measured,
  });
  const from = (room: string) => (after === undefined ? { room } : { room, after });
  return [
    of(roomEventsSubscription, 'RoomEvents', from(openRoom), true),
    of(typingSubscription, 'Typing', { room: openRoom }),
    of(presenceChangedSubscription, 'PresenceChanged', { room: openRoom }),
    ...otherRooms.map((room) => of(roomActivitySubscription, 'RoomActivity', from(room))),
  ];
}
