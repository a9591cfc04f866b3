/** Whether `probe` came true within `ms`, asked every `everyMs` (a probe that throws counts as not yet). */
export async function poll(probe: () => Promise<boolean>, ms: number, everyMs = 25): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
