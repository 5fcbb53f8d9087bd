/** The frames the reference broadcaster sends: the same bytes as the server's results for the bench's documents (test/bench-reference.test.ts compares them). */

export interface Stored {
  id: string;
  room: string;
  text: string;
  authorId: string;
  authorName: string;
  createdAt: string;
}

/**
 * What a subscription receives, by the operationName of the bench's documents (bench/documents.ts):
 * basic (none), MessageAdded (the typed client's), RoomEvents (the web page's), RoomActivity
 * (the web page's unread watcher); `held` ones (Typing, PresenceChanged) receive no messages.
 */
export type Shape = 'basic' | 'MessageAdded' | 'RoomEvents' | 'RoomActivity' | 'held';

export const SHAPES: Record<string, Shape> = { MessageAdded: 'MessageAdded', RoomEvents: 'RoomEvents', RoomActivity: 'RoomActivity', Typing: 'held', PresenceChanged: 'held' };

/** The `data` of a next frame for a document's shape, fields in the document's order. */
export function dataOf(shape: Shape, m: Stored, mine: boolean): string {
  const q = JSON.stringify;
  const author = `"author":{"id":${q(m.authorId)},"username":${q(m.authorName)}}`;
  const head = `"id":${q(m.id)},"room":${q(m.room)}`;
  switch (shape) {
    case 'RoomActivity':
      return `{"messageAdded":{${head}}}`;
    case 'MessageAdded':
      return `{"messageAdded":{${head},"text":${q(m.text)},"createdAt":${q(m.createdAt)},"editedAt":null,"mine":${mine},${author}}}`;
    case 'RoomEvents':
      return (
        `{"roomEvents":{"id":${q(m.id)},"type":"ADDED","messageId":${q(m.id)},"byModerator":false,"emoji":null,"until":null,"role":null,` +
        `"actor":{"id":${q(m.authorId)},"username":${q(m.authorName)}},"target":null,` +
        `"message":{${head},"text":${q(m.text)},"createdAt":${q(m.createdAt)},"editedAt":null,"mine":${mine},${author},"replyTo":null,"mentions":[],"reactions":[]}}}`
      );
    default:
      return `{"messageAdded":{${head},"text":${q(m.text)},"createdAt":${q(m.createdAt)},${author}}}`;
  }
}
