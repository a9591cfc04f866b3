#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, like the rest of the embedded runtime.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
