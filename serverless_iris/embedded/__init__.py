"""The embedded Hopsworks stand-in on DuckDB. Notebooks reach it only through ``serverless_iris.login()``;
it knows nothing of runs, reports or notebooks."""
