from omniembed.cli import main

raise SystemExit(main())
