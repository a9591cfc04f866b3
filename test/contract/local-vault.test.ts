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
  const vault = new LocalVault({ dir });
  return {
    vault,
    seed: async (raw) => vault.createSecret(`pullkeeper/contract-${randomUUID()}`, raw),
    stages: async (id) => (await vault.describe(id)).versions,
  };
});
