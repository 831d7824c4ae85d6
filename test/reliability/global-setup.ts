/**
 * Global setup for the reliability project: starts each run with an empty figures file (the
 * table is printed by figures-reporter.ts when the run ends).
 */
import { resetFigures } from './figures.ts';

export default function setup(): void {
  resetFigures();
}
