from serverless_iris.runner.cli import main

raise SystemExit(main())
