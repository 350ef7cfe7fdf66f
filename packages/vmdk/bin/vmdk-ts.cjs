#!/usr/bin/env node
require('@fstools/cli-kit/launch').launch(__dirname, 'vmdk-ts', 'cli.js');
