import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter hides our output

from deepviz.cli import main  # noqa: E402

sys.exit(main())
