// Ends the run with the slowest test files (where a contributor's wait goes)
// and one plain line CI can read: "N passed, N failed, N skipped".
const path = require('path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const files = results.testResults
      .map((r) => ({ file: path.relative(process.cwd(), r.testFilePath), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.seconds - a.seconds);
    if (files.length > 1) {
      console.log('slowest test files:');
      for (const { file, seconds } of files.slice(0, 12)) console.log(`  ${seconds.toFixed(1).padStart(7)} s  ${file}`);
    }
    console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped`);
  }
}
module.exports = SummaryReporter;
