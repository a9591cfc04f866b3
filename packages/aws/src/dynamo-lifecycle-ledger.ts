import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { CredentialVersion, LifecycleLedger, Revocation, RevocationStatus } from "@pullkeeper/core";
import { DynamoEnvironmentLedger } from "./dynamo-environment-ledger.js";
import { fromRevocationItem } from "./environment-items.js";
import { classifyAwsError } from "./errors.js";
import { key, revocationAttributes, toVersion } from "./ledger-items.js";

const isConditionFailed = (error: unknown) => (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";

/**
 * The lifecycle part of the ledger table: the per-registry lock (a lease in one item, taken with a
 * conditional write), each version's supersession and revocation, and the revocation status.
 * Single-item conditional writes only, like the rest of the ledger.
 */
export class DynamoLifecycleLedger extends DynamoEnvironmentLedger implements LifecycleLedger {
  async acquireLock(registryId: string, owner: string, until: Date, now: Date): Promise<boolean> {
    return this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: key.lock(registryId),
        ConditionExpression: "attribute_not_exists(pk) OR lockOwner = :owner OR lockedUntilMs < :now",
        UpdateExpression: "SET lockOwner = :owner, lockedUntilMs = :until, lockedAt = :at",
        ExpressionAttributeValues: { ":owner": owner, ":until": until.getTime(), ":now": now.getTime(), ":at": now.toISOString() },
      }),
    );
  }

  async releaseLock(registryId: string, owner: string): Promise<void> {
    await this.#conditional(new DeleteCommand({ TableName: this.table, Key: key.lock(registryId), ConditionExpression: "lockOwner = :owner", ExpressionAttributeValues: { ":owner": owner } }));
  }

  async recordRevoked(version: Pick<CredentialVersion, "registryId" | "secretArn" | "versionId" | "fingerprint" | "createdAt">, revocation: Revocation): Promise<"recorded" | "already"> {
    const recorded = await this.#conditional(
        new UpdateCommand({
          TableName: this.table,
          Key: key.version(version.registryId, version.versionId),
          ConditionExpression: "attribute_not_exists(revoked)",
          // A version the ledger never recorded (from before the lifecycle was kept) gets its identity too.
          UpdateExpression:
            "SET revoked = :revoked, registryId = if_not_exists(registryId, :registryId), secretArn = if_not_exists(secretArn, :secretArn), versionId = if_not_exists(versionId, :versionId), fingerprint = if_not_exists(fingerprint, :fingerprint), createdAt = if_not_exists(createdAt, :createdAt), verification = if_not_exists(verification, :verification)",
          ExpressionAttributeValues: {
            ":revoked": revocationAttributes(revocation),
            ":registryId": version.registryId,
            ":secretArn": version.secretArn,
            ":versionId": version.versionId,
            ":fingerprint": version.fingerprint,
            ":createdAt": version.createdAt.toISOString(),
            ":verification": { status: "ok", detail: "not recorded when it was current", checkedAt: version.createdAt.toISOString() },
          },
        }),
    );
    return recorded ? "recorded" : "already";
  }

  async recordRevocationStatus(registryId: string, status: RevocationStatus): Promise<void> {
    await this.putItem({
      ...key.revocation(registryId),
      registryId,
      versionId: status.versionId,
      state: status.state,
      reason: status.reason,
      checkedAt: status.checkedAt.toISOString(),
      ...(status.overlapEndsAt && { overlapEndsAt: status.overlapEndsAt.toISOString() }),
    });
  }

  async revocationStatus(registryId: string): Promise<RevocationStatus | undefined> {
    const item = await this.getItem(key.revocation(registryId), { consistent: true });
    return item ? fromRevocationItem(item) : undefined;
  }

  override async version(registryId: string, versionId: string): Promise<CredentialVersion | undefined> {
    const item = await this.getItem(key.version(registryId, versionId), { consistent: true });
    return item ? toVersion(item) : undefined;
  }

  /**
   * A newer version took `previousId`'s place at `at`: stamp the old version and name it the
   * registry's previous one (only while `currentId` is still current, so a late call changes nothing).
   */
  protected async recordSuperseded(registryId: string, previousId: string, currentId: string, at: Date): Promise<void> {
    await this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: key.version(registryId, previousId),
        ConditionExpression: "attribute_exists(pk)",
        UpdateExpression: "SET supersededAt = if_not_exists(supersededAt, :at)",
        ExpressionAttributeValues: { ":at": at.toISOString() },
      }),
    );
    await this.#conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: key.state(registryId),
        ConditionExpression: "currentVersionId = :current",
        UpdateExpression: "SET previousVersionId = :previous",
        ExpressionAttributeValues: { ":current": currentId, ":previous": previousId },
      }),
    );
  }

  /** A conditional single-item write: false when its condition did not hold, other errors classified. */
  async #conditional(command: UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw classifyAwsError(error, `ledger ${command.constructor.name.replace("Command", "Item")} on ${this.table}`);
    }
  }
}
