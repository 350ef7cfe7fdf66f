#!/usr/bin/env node
import { runCli } from '@fstools/cli-kit';
import { hideBin } from 'yargs/helpers';
import { main } from './commands.js';

runCli('erofs-ts', () => main(hideBin(process.argv)));
