"""The project's apps started as real processes on free ports, and institutions set up through
the engine's real HTTP API: what the tests and the benchmarks both drive."""
