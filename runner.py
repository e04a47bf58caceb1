from serverless_iris.cli import main

raise SystemExit(main())
