import sys

from deepviz.tfenv import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow: its C++ chatter would hide our output

from deepviz.cli import main  # noqa: E402

sys.exit(main())
