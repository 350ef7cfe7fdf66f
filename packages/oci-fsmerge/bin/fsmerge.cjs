#!/usr/bin/env node
require('@fstools/cli-kit/launch').launch(__dirname, 'fsmerge', 'cli.js');
