from docqueue_client.cli import main

main()
