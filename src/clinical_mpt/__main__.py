from clinical_mpt.cli import main

raise SystemExit(main())
