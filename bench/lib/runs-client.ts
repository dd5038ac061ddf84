/** `/v1/runs` over plain fetch, for the runs benchmarks: start a run, read its events to the end. */
export function runsClient(key: string, input: string) {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const startRun = async (base: string): Promise<string> => {
    const res = await fetch(`${base}/runs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "main", input }),
    });
    if (res.status !== 202) throw new Error(`POST /runs: HTTP ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
  const readEvents = async (base: string, id: string): Promise<string> => {
    const text = await (await fetch(`${base}/runs/${id}/events`, { headers })).text();
    if (!text.includes("event: run.completed"))
      throw new Error(`run ${id} did not complete: ${text.slice(-200)}`);
    return text;
  };
  /** How much later a follower on `followerBase` sees the run end than the executing server's own stream. */
  const followerDelays = async (base: string, followerBase: string, samples: number): Promise<number[]> => {
    const delays: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = await startRun(base);
      const local = readEvents(base, id).then(() => performance.now());
      const remote = readEvents(followerBase, id).then(() => performance.now());
      const [l, r] = await Promise.all([local, remote]);
      delays.push(r - l);
    }
    return delays;
  };
  return { startRun, readEvents, followerDelays };
}
