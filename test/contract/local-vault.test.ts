import { LocalVault } from "@pullkeeper/local";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { describeVaultContract } from "./vault-contract.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describeVaultContract("LocalVault (encrypted files)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-vault-contract-"));
  dirs.push(dir);
  let frozen: Date | undefined;
  const vault = new LocalVault({ dir, clock: { now: () => frozen ?? new Date() } });
  return {
    vault,
    seed: async (raw) => vault.createSecret(`pullkeeper/contract-${randomUUID()}`, raw),
    stages: async (id) => (await vault.describe(id)).versions,
    // LocalVault accepts a RotationToken and ignores it (no other account or role to prove anything to): no rotationTokensWritten.
    beginRotation: async (id, token) => void (await vault.beginRotation(id, token)),
    freezeClock: (at) => {
      frozen = at;
    },
  };
});
