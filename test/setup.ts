// Loaded by mocha before any test file: keep service logs out of the test report unless asked for.
process.env.AERIE_LOG_LEVEL ??= "silent";
