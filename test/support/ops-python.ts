/** The venv python that scripts/setup-ops.sh fills with the operations tests' checkers (prometheus_client, openapi-spec-validator). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const OPS_PYTHON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.tmp/venv-ops/bin/python');
