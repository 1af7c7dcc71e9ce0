from walkway.cli import main

raise SystemExit(main())
