/**
 * Fault injection at an AWS SDK client's `send` (over aws-sdk-client-mock's stub, for the services
 * with no emulator here): while armed, every command the matcher picks fails with the fault's
 * error, as the client throws it once its own retries are spent; the rest pass through.
 */
export interface SdkFaults {
  /** From now on, until `clear`, the picked commands fail so. */
  arm(fault: () => Error, pick?: (commandName: string) => boolean): void;
  clear(): void;
  /** Commands that met the fault, by name. */
  readonly failed: string[];
}

interface Sends {
  send(command: unknown, ...rest: unknown[]): Promise<unknown>;
}

export function injectFaults(client: Sends): SdkFaults {
  const pass = client.send.bind(client);
  let armed: { fault: () => Error; pick: (name: string) => boolean } | undefined;
  const failed: string[] = [];
  client.send = (command: unknown, ...rest: unknown[]) => {
    const name = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, "");
    if (armed?.pick(name) === true) {
      failed.push(name);
      return Promise.reject(armed.fault());
    }
    return pass(command, ...rest);
  };
  return {
    arm: (fault, pick = () => true) => void (armed = { fault, pick }),
    clear: () => void (armed = undefined),
    failed,
  };
}
