/** The run's decision on an attempt: accepted, rejected, or not (yet) decided. */
export function VerdictBadge({ accepted }: { accepted: boolean | null }) {
  const [cls, text] = accepted === true ? ["ok", "accepted"] : accepted === false ? ["bad", "rejected"] : ["neutral", "unverified"];
  return (
    <span className={`pill ${cls}`} data-testid="verdict-badge">
      {text}
    </span>
  );
}
