"""deepviz: see why deep learning handles complex patterns. Run with `streamlit run app.py`."""

from deepviz.tfenv import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow

from deepviz.ui.shell import main  # noqa: E402

main()
