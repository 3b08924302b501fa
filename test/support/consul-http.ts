/** One call to a Consul HTTP API; `json` is undefined when the body is not JSON. */
export interface ApiResult {
  readonly status: number;
  readonly json: any;
  readonly text: string;
}

export async function consulHttp(address: string, method: string, urlPath: string, body?: unknown, token?: string): Promise<ApiResult> {
  const res = await fetch(`http://${address}${urlPath}`, {
    method,
    headers: token ? { 'X-Consul-Token': token } : {},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
