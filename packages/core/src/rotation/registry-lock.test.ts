import { describe, expect, it } from "vitest";
import { PullkeeperError } from "../model/errors.js";
import { RegistryBusyError, whenUnlocked } from "./registry-lock.js";

describe("whenUnlocked", () => {
  it("waits out a brief holder, gives up on a long one, and never retries other errors", async () => {
    let calls = 0;
    const busyTwice = async () => {
      if (++calls <= 2) throw new RegistryBusyError("r", "rotation");
      return "done";
    };
    expect(await whenUnlocked(busyTwice, { delayMs: 1 })).toBe("done");
    expect(calls).toBe(3);

    calls = 0;
    const alwaysBusy = async () => {
      calls++;
      throw new RegistryBusyError("r", "rotation");
    };
    await expect(whenUnlocked(alwaysBusy, { attempts: 4, delayMs: 1 })).rejects.toMatchObject({ code: "rotation_in_progress" });
    expect(calls).toBe(4);

    calls = 0;
    const inUse = async () => {
      calls++;
      throw new PullkeeperError("previous_in_use", "kept");
    };
    await expect(whenUnlocked(inUse, { delayMs: 1 })).rejects.toMatchObject({ code: "previous_in_use" });
    expect(calls).toBe(1);
  });
});
