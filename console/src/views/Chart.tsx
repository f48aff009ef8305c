import type { StatsQuery } from "../gql/graphql";

type Series = StatsQuery["webhookStats"]["webhooks"][number];

/**
 * Attempts per bucket as bars (succeeded in green, failed stacked in red), in plain SVG with a
 * fixed viewBox: it scales with its box and never changes the layout when data arrives.
 */
export function AttemptsChart({ series, since, bucketSeconds, buckets, title }: {
  series: Series;
  since: string;
  bucketSeconds: number;
  buckets: number;
  title: string;
}) {
  const width = 600, height = 120, pad = 18;
  const counts = new Array<{ attempts: number; succeeded: number }>(buckets).fill({ attempts: 0, succeeded: 0 });
  const start = new Date(since).getTime();
  for (const b of series.buckets) {
    const i = Math.floor((new Date(b.start).getTime() - start) / (bucketSeconds * 1000));
    if (i >= 0 && i < buckets) counts[i] = { attempts: b.attempts, succeeded: b.succeeded };
  }
  const max = Math.max(1, ...counts.map((c) => c.attempts));
  const bar = (width - pad) / buckets;
  const y = (n: number) => (n / max) * (height - pad);
  const rate = series.successRate == null ? "no attempts" : `${Math.round(series.successRate * 100)} % succeeded`;
  const summary = `${title}: ${series.attempts} attempts, ${rate}; busiest ${bucketSeconds / 60}-minute bucket ${max === 1 && !series.attempts ? 0 : max}.`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line x1={pad} y1={height - pad} x2={width} y2={height - pad} className="axis" />
        <text x={0} y={10} className="tick">{max}</text>
        <text x={0} y={height - pad} className="tick">0</text>
        {counts.map((c, i) =>
          c.attempts ? (
            <g key={i}>
              <rect x={pad + i * bar} y={height - pad - y(c.attempts)} width={Math.max(bar - 0.5, 0.5)} height={y(c.attempts - c.succeeded)} className="bar-failed" />
              <rect x={pad + i * bar} y={height - pad - y(c.succeeded)} width={Math.max(bar - 0.5, 0.5)} height={y(c.succeeded)} className="bar-ok" />
            </g>
          ) : null,
        )}
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}

/** Success rate as a small bar (text beside it), for tables. */
export function RateBar({ rate }: { rate: number | null | undefined }) {
  if (rate == null) return <span className="muted">no attempts</span>;
  const pct = Math.round(rate * 100);
  return (
    <span className="rate">
      <svg viewBox="0 0 100 8" width="60" height="8" aria-hidden="true">
        <rect width="100" height="8" className="rate-bg" />
        <rect width={pct} height="8" className={pct >= 95 ? "bar-ok" : pct >= 50 ? "bar-warn" : "bar-failed"} />
      </svg>
      {pct} %
    </span>
  );
}

/** The window's attempts as a strip of small bars (red when any failed), for a table row. */
export function Sparkline({ series, since, bucketSeconds, buckets }: { series: Series | undefined; since: string; bucketSeconds: number; buckets: number }) {
  if (!series) return <span className="spark-placeholder" aria-hidden="true" />;
  const start = new Date(since).getTime();
  const cells = new Array<{ attempts: number; succeeded: number } | undefined>(buckets).fill(undefined);
  for (const b of series.buckets) {
    const i = Math.floor((new Date(b.start).getTime() - start) / (bucketSeconds * 1000));
    if (i >= 0 && i < buckets) cells[i] = b;
  }
  const max = Math.max(1, ...cells.map((c) => c?.attempts ?? 0));
  const failedBuckets = cells.filter((c) => c && c.succeeded < c.attempts).length;
  const label = series.attempts
    ? `${series.attempts} attempts; ${failedBuckets} of the ${bucketSeconds / 60}-minute periods had failures`
    : "no attempts";
  return (
    <svg className="spark" viewBox={`0 0 ${buckets} 20`} preserveAspectRatio="none" role="img" aria-label={label}>
      {cells.map((c, i) =>
        c ? <rect key={i} x={i} width={0.8} y={20 - Math.max(2, (c.attempts / max) * 20)} height={Math.max(2, (c.attempts / max) * 20)} className={c.succeeded < c.attempts ? "bar-failed" : "bar-ok"} /> : null,
      )}
    </svg>
  );
}
