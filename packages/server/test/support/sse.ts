import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";

/** The events of a text/event-stream response, parsed by eventsource-parser, until the stream ends or `stop` says so. */
export async function readEvents(
  response: Response,
  stop: (event: EventSourceMessage, all: EventSourceMessage[]) => boolean = () => false,
) {
  const events: EventSourceMessage[] = [];
  if (!response.body) throw new Error("the response has no body");
  const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      events.push(value);
      if (stop(value, events)) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

/** The step indexes of the `step` events, in the order they came. */
export const stepIndexes = (events: readonly EventSourceMessage[]) =>
  events.filter((e) => e.event === "step").map((e) => (JSON.parse(e.data) as { step_index: number }).step_index);
