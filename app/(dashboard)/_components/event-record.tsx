import { describeRecord } from "@/app/lib/event-record";

/** One lost event / gap / node status record, shown field by field as text. */
export function EventRecord({ record }: { record: Record<string, unknown> }) {
  const view = describeRecord(record);
  return (
    <div className="event-record">
      {view.time && <div className="event-time mono">{view.time}</div>}
      <dl className="kv-inline">
        {view.fields.map((f) => (
          <div key={f.key}>
            <dt>{f.key}</dt>
            <dd>{f.value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
