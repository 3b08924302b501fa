// Starts the longest files first, so that with 4 files at a time the run ends
// soon after its longest file does. Jest's own order needs timings from an
// earlier run (a fresh clone has none) and then places a new long file last.
// The order: the e2e files by what they took on 2 cores (2026-12-04, evening),
// then integration, then unit.
const Sequencer = require('@jest/test-sequencer').default;

const LONGEST_FIRST = ['day2', 'faults', 'main-job', 'two-hosts', 'rotations', 'server-stacks', 'gateways', 'federated-pair', 'java', 'python', 'pg-backend', 'go'];

const rank = (file) => {
  const name = file.split('/').pop().replace(/\.test\.ts$/, '');
  const known = LONGEST_FIRST.indexOf(name);
  if (known >= 0) return known;
  return file.includes('/e2e/') ? LONGEST_FIRST.length : file.includes('/integration/') ? LONGEST_FIRST.length + 1 : LONGEST_FIRST.length + 2;
};

class LongestFirst extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || a.path.localeCompare(b.path));
  }
}
module.exports = LongestFirst;
