/**
 * Prints the reliability figures table when a run that included the reliability project ends,
 * pass or fail. It is listed before vitest's own reporter, so the table comes first and the
 * summary, with any failed test and its error, stays at the very end of the output (where a CI
 * log that keeps only its tail still shows what failed).
 */
import type { Reporter, TestModule } from 'vitest/node';
import { formatFigures, MODE, readFigures } from './figures.ts';

export default class FiguresReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!testModules.some((m) => m.project.name === 'reliability')) return;
    console.log(`\nReliability figures (${MODE} mode)\n${formatFigures(readFigures())}\n`);
  }
}
