import type { RegistrySource } from "../../model/model.js";

/**
 * An Azure Container Registry token's two passwords, regenerated in turn through Azure Resource
 * Manager as a Microsoft Entra ID service principal (`admin`). The token and its pull-only scope
 * map are made by a person: pullkeeper only regenerates and removes the token's passwords.
 */
export interface AcrTokenSource extends RegistrySource {
  readonly type: "acr-token";
  /** The vault secret holding the service principal: {"username": "<tenant id>/<client id>", "password": "<client secret>"}. */
  readonly admin: string;
  /** The Azure subscription id (a GUID) the registry is in. */
  readonly subscription: string;
  readonly resourceGroup: string;
  /** The registry's name (`<registry>.azurecr.io`). */
  readonly registry: string;
  /** The ACR token whose passwords consumers log in with; its name is the login's username. */
  readonly token: string;
  /** How long a password lives (its `expiry`), in seconds. */
  readonly lifetime: number;
  /** Rotation schedule, rate(...) or cron(...). */
  readonly rotation: string;
  /** Azure Resource Manager's base URL. */
  readonly api: string;
  /** Microsoft Entra ID's base URL (the token endpoint is `<login>/<tenant>/oauth2/v2.0/token`). */
  readonly login: string;
}
