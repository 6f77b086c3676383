// A job's or an instance's outputs, each value shown whole as text.

export function OutputsTable({ outputs }: { outputs: [string, string][] }) {
  if (outputs.length === 0) return <p className="muted">None.</p>;
  return (
    <table className="list" data-testid="job-outputs">
      <tbody>
        {outputs.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td className="mono">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
