// The berth CLI's entry point in a fresh Node process (BERTH_CLI_DIRECT=1, or when no warm CLI process
// answers the native front end, src/shim/berth-cli.c). The command line itself is cli.ts.
import { runCli } from './cli.js';

runCli(process.argv.slice(2));
