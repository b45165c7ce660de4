import type { LengthSummary, ProfileSummary } from "../../api/client";
import { formatNumber, percentileKeys } from "../../lib/format";

/** Which prompts a profile counted: the split a run's rollout covers, or the whole set. */
export function profileScope(split: ProfileSummary["split"] | undefined): string {
  if (split === "train" || split === "eval") return `in the ${split} split (what the rollout covers)`;
  return "in the whole set";
}

/** The profile stage's prompt lengths: min, percentiles, max and mean in characters and words. */
export function ProfileTable({ profile }: { profile: ProfileSummary }) {
  const rows: [string, LengthSummary][] = [
    ["characters", profile.chars],
    ["words", profile.words],
  ];
  const keys = percentileKeys(rows.map(([, s]) => s));
  return (
    <div className="profile" data-testid="profile">
      <h3>
        Profile: <span data-testid="profile-prompt-count">{formatNumber(profile.prompt_count)}</span> prompts{" "}
        <span className="muted small" data-testid="profile-split">
          {profileScope(profile.split)}
        </span>
      </h3>
      <table className="table compact">
        <thead>
          <tr>
            <th>length</th>
            <th>min</th>
            {keys.map((k) => (
              <th key={k}>{k}</th>
            ))}
            <th>max</th>
            <th>mean</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([unit, s]) => (
            <tr key={unit} data-testid={`profile-${unit}`}>
              <td>{unit}</td>
              <td>{formatNumber(s.min)}</td>
              {keys.map((k) => (
                <td key={k}>{s.percentiles[k] === undefined ? "—" : formatNumber(s.percentiles[k])}</td>
              ))}
              <td>{formatNumber(s.max)}</td>
              <td>{formatNumber(s.mean)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
