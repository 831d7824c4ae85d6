/**
 * Global setup for the reliability project: starts each run with an empty figures file and
 * prints the figures table when the run ends (pass or fail), so the numbers are always visible.
 */
import { formatFigures, MODE, readFigures, resetFigures } from './figures.ts';

export default function setup(): () => void {
  resetFigures();
  return () => {
    console.log(`\nReliability figures (${MODE} mode)\n${formatFigures(readFigures())}\n`);
  };
}
