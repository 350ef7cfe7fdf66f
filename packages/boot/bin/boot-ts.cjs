#!/usr/bin/env node
require('@fstools/cli-kit/launch').launch(__dirname, 'boot-ts', 'cli.js');
