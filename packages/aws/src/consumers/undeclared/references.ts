import type { UndeclaredConsumer } from "@pullkeeper/core";
import type { AwsLocation } from "../shared/secret.js";

/** One secret reference found in one AWS resource, before it is matched against tracked secrets. */
export interface SecretReference extends AwsLocation {
  readonly kind: UndeclaredConsumer["kind"];
  /** The resource's ARN (a task definition's: its latest ACTIVE revision's). */
  readonly resource: string;
  /** The project's name or the task definition's family. */
  readonly name: string;
  readonly foundIn: string;
  readonly reference: string;
}
