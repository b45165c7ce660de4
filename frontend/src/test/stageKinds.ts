import type { Schemas } from "../api/client";
import raw from "./stage-kinds.json";

/** GET /api/projects/{id}/stage-kinds as the API answers it, down to the settings' defaults (the wizard's
 * starting state); tests/test_openapi_client.py checks it against the API. */
export const STAGE_KINDS = raw as Schemas["StageKindOut"][];
