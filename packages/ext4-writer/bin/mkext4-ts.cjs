#!/usr/bin/env node
require('@fstools/cli-kit/launch').launch(__dirname, 'mkext4-ts', 'cli.js');
