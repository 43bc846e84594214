from cpflow.cli import main

main()
