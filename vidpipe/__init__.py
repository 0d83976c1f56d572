"""vidpipe core: settings, database, AWS clients and the video services shared by the API and the poller."""
