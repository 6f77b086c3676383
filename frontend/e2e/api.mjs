// Setting the scene through the API, as a script or another user would.

export async function call(server, method, path, body) {
  const answer = await fetch(`${server.url}/api${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${path} answered ${answer.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A component on the examples' offline busybox image, running a shell script. */
export function busyboxComponent(namespace, name, { script, inputs = [], outputs = [], description = "" }) {
  return {
    apiVersion: "containerops/v1",
    kind: "Component",
    metadata: { namespace, name, version: "1.0.0", description },
    spec: {
      image: "containerops/busybox:1",
      command: ["sh", "-c", script],
      inputs,
      outputs: outputs.map((output) => ({ name: output })),
      timeout: "2m",
    },
  };
}

export const publish = (server, component) =>
  call(server, "POST", `/namespaces/${component.metadata.namespace}/components`, component);
