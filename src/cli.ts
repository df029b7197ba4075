/**
 * `ferry serve | validate | routes`: the command line over the composition root.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.js';
import { startFerry, validateMappings } from './main.js';

const USAGE = `Usage:
  ferry serve    [--mappings DIR] [--host HOST] [--port N] [--ext-proc-port N]
                                                                serve HTTP (default 127.0.0.1:8080, mappings/),
                                                                and Envoy ext_proc (gRPC) when a port is given
  ferry validate [DIR]                                          check a mapping folder; exit 1 with file:line:col messages
  ferry routes   [DIR]                                          list the routes a mapping folder serves

Environment: FERRY_MAPPINGS, FERRY_HOST, FERRY_PORT, FERRY_EXT_PROC_PORT, FERRY_MAX_BODY_BYTES,
FERRY_STICKY_KEYS (comma-separated signing keys for sticky cookies).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      mappings: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'ext-proc-port': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const dir = positionals[0] ?? values.mappings ?? process.env['FERRY_MAPPINGS'] ?? 'mappings';
  switch (command) {
    case 'validate': {
      const { config, engine } = await validateMappings(dir);
      void engine;
      const derived = engine.routes.length - config.routes.length;
      console.log(`${dir}: ${config.services.size} services, ${config.types.size} types, ${config.routes.length} routes (+${derived} from proto options) — OK`);
      return 0;
    }
    case 'routes': {
      const { config, engine } = await validateMappings(dir);
      for (const r of engine.routes) {
        const svc = config.services.get(r.serviceName)!;
        console.log(`${r.method.padEnd(6)} ${r.path.padEnd(40)} → ${svc.protocol} ${svc.interface ?? svc.service}.${r.rpcMethod}  [${r.id}]`);
      }
      return 0;
    }
    case 'serve': {
      const ferry = await startFerry({
        mappingsDir: dir,
        host: values.host ?? process.env['FERRY_HOST'] ?? '127.0.0.1',
        port: Number(values.port ?? process.env['FERRY_PORT'] ?? 8080),
        ...(values['ext-proc-port'] ?? process.env['FERRY_EXT_PROC_PORT']
          ? { extProcPort: Number(values['ext-proc-port'] ?? process.env['FERRY_EXT_PROC_PORT']) }
          : {}),
        ...(values['max-body-bytes'] ?? process.env['FERRY_MAX_BODY_BYTES']
          ? { maxBodyBytes: Number(values['max-body-bytes'] ?? process.env['FERRY_MAX_BODY_BYTES']) }
          : {}),
      });
      console.log(JSON.stringify({ level: 'info', msg: 'ferry listening', http: ferry.httpPort, extProc: ferry.extProcPort, mappings: dir }));
      const stop = (signal: string): void => {
        console.log(JSON.stringify({ level: 'info', msg: 'shutting down', signal }));
        ferry.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      return -1; // keep running
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 1;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
