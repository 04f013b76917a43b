import { utcStamp, utcTime } from "@reev/orchestrator";

/** A time as the CLI writes it, marked up: the exact instant stays machine-readable in `datetime`. */
export function UtcTime(props: { date: Date; suffix?: boolean }) {
  return <time datetime={props.date.toISOString()}>{props.suffix ? utcStamp(props.date) : utcTime(props.date)}</time>;
}
