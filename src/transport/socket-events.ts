/**
 * A ZeroMQ socket's monitor events (connect, disconnect, handshake, ...),
 * read in one place for the publisher and the subscriber.
 */
import type * as zmq from "zeromq";

/**
 * Hand each of `sock`'s events to `onEvent` until the socket closes; resolves
 * then, never rejects (a socket closed under the read only ends it).
 * `onEvent` must not throw.
 */
export async function watchSocketEvents(
  sock: zmq.Socket,
  onEvent: (event: zmq.Event) => void,
): Promise<void> {
  const events = sock.events;
  try {
    while (!events.closed) {
      const event = await events.receive();
      if (event.type === "end") return;
      onEvent(event);
    }
  } catch {
    // The socket closed: no more events.
  }
}
